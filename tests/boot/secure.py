"""Host-side parts of the boot suite's Secure Boot cases (cases.SECURE):
reading files back from an image's ESP, the digests the signed test
loader embeds, and the checks that boot nothing (tools/keys.sh and
tools/sign.sh, the refusals of bad values). tests/boot/run.py boots the
rest.

Each check_* function returns None when it passed, else the reasons in
one line, and writes what it ran and saw to its log file.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile

import cases

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ESP_OFFSET = 1 << 20  # tools/mkimage.sh puts the ESP at 1 MiB
SNAKEOIL_CERT = "/usr/share/ovmf/PkKek-1-snakeoil.pem"


def esp_sha256(image, path, scratch):
    """sha256sum of the file at path (e.g. "boot/kernel.elf") read back
    from the ESP of image into scratch, or raises RuntimeError naming what
    failed."""
    out = scratch
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    r = subprocess.run(["mcopy", "-n", "-i",
                        f"{image}@@{ESP_OFFSET}", "::/" + path, out],
                       env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise RuntimeError(f"mcopy of {path} from {image}: "
                           + r.stdout.decode(errors="replace").strip())
    r = subprocess.run(["sha256sum", out], stdout=subprocess.PIPE)
    os.unlink(out)
    if r.returncode != 0:
        raise RuntimeError(f"sha256sum failed on {path}")
    return r.stdout.decode().split()[0]


def embedded(hashes_txt, esp_kernel):
    """The digests the signed test loader embeds (tools/sign.sh's
    hashes.txt), after checking that its kernel digest is the ESP
    kernel's: a stale signed loader would make every case moot."""
    hashes = {}
    with open(hashes_txt) as f:
        for line in f:
            what, hexd = line.split()
            hashes[what] = hexd
    with open(esp_kernel, "rb") as f:
        esp = hashlib.sha256(f.read()).hexdigest()
    if hashes.get("kernel") != esp:
        raise RuntimeError(f"{hashes_txt} says kernel "
                           f"{hashes.get('kernel')}, but "
                           f"{esp_kernel} is {esp}")
    return hashes


KEY_FILES = [f"{n}.{ext}" for n in ("PK", "KEK", "db")
             for ext in ("key", "crt", "cer", "esl")] + [
    "PK.auth", "KEK.auth", "db.auth", "db-append.auth", "noPK.auth",
    "GUID.txt"]

def check_keys(loader, log):
    """tools/keys.sh, then the db key through tools/sign.sh."""
    keys = os.path.join(ROOT, "tools/keys.sh")
    sign = os.path.join(ROOT, "tools/sign.sh")
    out = []

    # No terminal (a new session) and a time limit: a step that
    # prompted for a pass phrase would fail or time out, not wait.
    def sh(*cmd, env=None):
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env,
                               stdin=subprocess.DEVNULL,
                               start_new_session=True, timeout=60)
        except subprocess.TimeoutExpired:
            out.append(f"$ {' '.join(cmd)}\n(timed out after 60 s)")
            return 124, "timed out after 60 s"
        text = r.stdout.decode(errors="replace")
        out.append(f"$ {' '.join(cmd)}\n{text}(status {r.returncode})")
        return r.returncode, text

    tmp = tempfile.mkdtemp(prefix="sb-keys.")
    try:
        kdir = os.path.join(tmp, "keys")
        problems = []
        rc, text = sh(keys, "--dir", kdir, "--name", "boot test")
        if rc != 0:
            problems.append(f"keys.sh failed: {text.strip()}")
        missing = [f for f in KEY_FILES
                   if not os.path.isfile(os.path.join(kdir, f))]
        if missing:
            problems.append(f"keys.sh made no {' '.join(missing)}")
        for f in ("PK.key", "KEK.key", "db.key"):
            path = os.path.join(kdir, f)
            if os.path.exists(path) and os.stat(path).st_mode & 0o077:
                problems.append(f"{f} is readable by others")
        before = {f: os.path.getmtime(os.path.join(kdir, f))
                  for f in os.listdir(kdir)}
        rc, text = sh(keys, "--dir", kdir)
        if rc == 0 or "exists" not in text:
            problems.append("a second keys.sh into the same directory "
                            f"was not refused: {text.strip()}")
        if {f: os.path.getmtime(os.path.join(kdir, f))
                for f in os.listdir(kdir)} != before:
            problems.append("the refused second run changed files")
        inside = os.path.join(ROOT, "build", "sb-keys-test")
        rc, text = sh(keys, "--dir", inside)
        if rc == 0 or os.path.exists(inside):
            problems.append(f"keys.sh wrote into the repository: {inside}")
            shutil.rmtree(inside, ignore_errors=True)
        signed = os.path.join(tmp, "signed.efi")
        rc, text = sh(sign, "sign", "--key", os.path.join(kdir, "db.key"),
                      "--cert", os.path.join(kdir, "db.crt"),
                      "--in", loader, "--out", signed)
        if rc != 0:
            problems.append(f"signing with db.key failed: {text.strip()}")
        rc, text = sh("sbverify", "--cert",
                      SNAKEOIL_CERT, signed)
        if rc == 0:
            problems.append("sbverify accepted the db-signed loader "
                            "with the snakeoil certificate")
        # A key with a pass phrase: refused in one line without
        # SB_PASS, signed with it; never a prompt.
        locked = os.path.join(tmp, "locked.key")
        sh("openssl", "pkey", "-in", os.path.join(kdir, "db.key"),
           "-aes256", "-passout", "pass:sb test", "-out", locked)
        env = {k: v for k, v in os.environ.items() if k != "SB_PASS"}
        rc, text = sh(sign, "sign", "--key", locked,
                      "--cert", os.path.join(kdir, "db.crt"),
                      "--in", loader, "--out", signed, env=env)
        if rc == 0 or "SB_PASS" not in text:
            problems.append(f"a locked key without SB_PASS: {text!r}")
        env["SB_PASS"] = "sb test"
        rc, text = sh(sign, "sign", "--key", locked,
                      "--cert", os.path.join(kdir, "db.crt"),
                      "--in", loader, "--out", signed, env=env)
        if rc != 0:
            problems.append(f"a locked key with SB_PASS: {text.strip()}")
        return "; ".join(problems) or None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with open(log, "w") as f:
            f.write("\n".join(out) + "\n")


def check_refusals(log):
    """Each bad Secure Boot variable or option: one error line naming
    it, the right status, and nothing built (a BUILD= of its own that
    must not appear)."""
    tmp = tempfile.mkdtemp(prefix="sb-refusals.")
    build = os.path.join(tmp, "build")
    out, problems = [], []
    try:
        for args, status, want in cases.REFUSALS:
            if args[0] == "run-qemu":
                cmd = [os.path.join(ROOT, "tools/run-qemu.sh")] + \
                    list(args[1:])
            else:
                cmd = ["make", "-C", ROOT, "--no-print-directory",
                       f"BUILD={build}"] + list(args)
            r = subprocess.run(cmd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, timeout=60)
            text = (r.stdout + r.stderr).decode(errors="replace")
            out.append(f"$ {' '.join(args)}\n{text}(status "
                       f"{r.returncode})")
            lines = [ln for ln in text.splitlines() if ln.strip()]
            if r.returncode != status or len(lines) != 1 \
                    or want not in lines[0]:
                problems.append(f"{' '.join(args)}: status "
                                f"{r.returncode} (want {status}), "
                                f"{len(lines)} lines, wanted one "
                                f"containing {want!r}: {text.strip()!r}")
            if os.path.exists(build):
                problems.append(f"{' '.join(args)} built something")
                shutil.rmtree(build, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with open(log, "w") as f:
            f.write("\n".join(out) + "\n")
    return "; ".join(problems) or None
