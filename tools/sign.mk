# Secure Boot (README, "Secure Boot"): signed loaders, the signed image,
# the Secure Boot run and key generation. Included by the top Makefile
# after the object lists and before the image rule, which takes
# IMAGE_LOADER, IMAGE_CONFIG_ARGS, IMAGE_PREREQS and IMAGE_CHECK from
# here.
#
#   make image SIGN=1    build/disk-signed.img: the ESP kernel, the
#                        loader.conf CMDLINE= gives, and a loader that
#                        embeds the SHA-256 of exactly those two files,
#                        signed (snakeoil key, or SB_KEY=/SB_CERT=) and
#                        checked with sbverify; then both files are read
#                        back from the image and compared with the hashes
#   make usb SIGN=1 DEV=/dev/sdX   writes that image
#   make run SIGN=1      boots it under the normal OVMF (Secure Boot off;
#                        the loader still checks its hashes)
#   make run-secure      boots it under OVMF's snakeoil firmware, whose db
#                        trusts the snakeoil key (Secure Boot on)
#   make keys DIR=...    a key pair and certificate of your own and the
#                        files firmware enrolls (tools/keys.sh)
#
# The build, not a person, keeps the hashes in step: the generated
# hashes.c depends on the kernel file and loader.conf, so changing either
# rebuilds and re-signs the loader. The default loader
# (build/loader/BOOTX64.EFI) embeds no hashes and is never signed.

SIGN ?= 0
SB_KEY ?=
SB_CERT ?=
DIR ?=
# Debian's ovmf package: OVMF_VARS_4M.snakeoil.fd enrolls this key's
# certificate in PK, KEK and db. Its pass phrase is "snakeoil".
SNAKEOIL_KEY := /usr/share/ovmf/PkKek-1-snakeoil.key
SNAKEOIL_CERT := /usr/share/ovmf/PkKek-1-snakeoil.pem

# make run-secure boots the signed image: it implies SIGN=1.
ifneq ($(filter run-secure,$(MAKECMDGOALS)),)
ifneq ($(origin SIGN),file)
ifneq ($(SIGN),1)
$(error SIGN=$(SIGN): make run-secure boots the signed image, so it takes SIGN=1 or no SIGN= at all)
endif
endif
override SIGN := 1
ifneq ($(MACHINE),q35)
$(error MACHINE=$(MACHINE): make run-secure needs q35 (the Secure Boot firmware needs SMM, which QEMU's q35 has))
endif
# The least memory, from tools/run-qemu.sh (measured there); check_mem is
# tools/checks.mk's.
$(eval $(call check_mem,$(shell sed -n 's/^mem_min_ovmf_secure=//p' tools/run-qemu.sh),make run-secure (OVMF with Secure Boot)))
endif

ifneq ($(filter-out 0 1,$(SIGN))$(filter-out 1,$(words $(SIGN))),)
$(error SIGN='$(SIGN)': SIGN= takes 1 (sign the loader, with the kernel and loader.conf hashes in it) or 0 (the default))
endif

# SB_KEY and SB_CERT come as a pair, like OVMF_CODE and OVMF_VARS.
ifneq ($(SIGN),0)
ifneq ($(words $(SB_KEY)),$(words $(SB_CERT)))
$(error SB_KEY= and SB_CERT= go together: give both (your key and its certificate, e.g. from make keys DIR=...), or neither for the snakeoil key)
endif
ifneq ($(filter-out 0 1,$(words $(SB_KEY))),)
$(error SB_KEY='$(SB_KEY)': one file, and its path cannot hold spaces)
endif
ifneq ($(SB_KEY),)
ifeq ($(wildcard $(SB_KEY)),)
$(error SB_KEY=$(SB_KEY): no such file (make keys DIR=... makes a key and certificate))
endif
ifeq ($(wildcard $(SB_CERT)),)
$(error SB_CERT=$(SB_CERT): no such file (make keys DIR=... makes a key and certificate))
endif
endif
endif

ifneq ($(filter keys,$(MAKECMDGOALS)),)
ifeq ($(strip $(DIR)),)
$(error make keys needs DIR=, a directory outside this repository for your Secure Boot keys, e.g. DIR=~/sb-keys; nothing was made)
endif
endif

# The key the image's loader is signed with. SB_PASS reaches sign.sh
# through the environment: "snakeoil" for the snakeoil key, else yours
# (export SB_PASS when your key has a pass phrase).
sign_key := $(or $(SB_KEY),$(SNAKEOIL_KEY))
sign_cert := $(or $(SB_CERT),$(SNAKEOIL_CERT))
sign_env := $(if $(SB_KEY),,SB_PASS=snakeoil)

SIGNED_DIR := $(BUILD)/loader-signed

# What the Makefile's image rule installs. IMAGE_CONFIG_ARGS and
# IMAGE_CHECK are expanded in the recipe ($@ is the image).
ifeq ($(SIGN),1)
DISK_IMG := $(BUILD)/disk-signed.img
IMAGE_LOADER := $(SIGNED_DIR)/BOOTX64.EFI
IMAGE_PREREQS := $(SIGNED_DIR)/loader.conf $(SIGNED_DIR)/hashes.txt
IMAGE_CONFIG_ARGS = --config $(SIGNED_DIR)/loader.conf
IMAGE_CHECK = tools/sign.sh check-image --image $@ \
	--hashes $(SIGNED_DIR)/hashes.txt
else
IMAGE_LOADER := $(LOADER_EFI)
IMAGE_PREREQS :=
IMAGE_CONFIG_ARGS = --cmdline-file $(DISK_CMDLINE)
IMAGE_CHECK = @:
endif

# Every loader object but the empty hashes (loader/hashes_none.c).
LOADER_OBJS_SIGNED := $(filter-out %/loader/hashes_none.obj,$(LOADER_OBJS))

# $(call signed_loader,DIR,CONFIG,KEY,CERT,ENV): DIR/BOOTX64.EFI, the
# loader embedding the SHA-256 of $(KERNEL_ESP_ELF) and CONFIG, signed
# with KEY (sign.sh's environment ENV) and verified against CERT.
# DIR/hashes.txt lists the two digests. DIR/key.name records which key,
# so naming another one re-signs.
define signed_loader
$1/hashes.c: $(KERNEL_ESP_ELF) $2 tools/sign.sh
	tools/sign.sh hashes --kernel $(KERNEL_ESP_ELF) --config $2 --out $$@
$1/hashes.txt: $1/hashes.c ;
$1/hashes.obj: $1/hashes.c Makefile
	$$(CLANG) $$(LOADER_CFLAGS) -c $$< -o $$@
$1/BOOTX64.unsigned.efi: $$(LOADER_OBJS_SIGNED) $1/hashes.obj
	$$(LLD_LINK) $$(LOADER_LDFLAGS) -out:$$@ $$^
$1/key.name: FORCE
	@mkdir -p $$(@D)
	@printf '%s\n' '$3' '$4' | cmp -s - $$@ || printf '%s\n' '$3' '$4' > $$@
$1/BOOTX64.EFI: $1/BOOTX64.unsigned.efi $1/key.name $3 $4 tools/sign.sh
	$5 tools/sign.sh sign --key $3 --cert $4 --in $$< --out $$@
endef

# make image SIGN=1: loader.conf from CMDLINE= (mkimage.sh writes it, so
# its bytes are the ones an unsigned image would get), then the loader
# for it. The cmdline stamp sits beside the image (see the Makefile).
$(SIGNED_DIR)/loader.conf: $(DISK_IMG).cmdline tools/mkimage.sh \
		tools/check-cmdline.sh
	@mkdir -p $(@D)
	tools/mkimage.sh --write-config $@ --cmdline-file $<
$(eval $(call signed_loader,$(SIGNED_DIR),$(SIGNED_DIR)/loader.conf,$(sign_key),$(sign_cert),$(sign_env)))

# The boot suite's signed loaders (tests/boot/cases.py, SECURE): one for
# the ESP kernel and a loader.conf with cmdline=test, and the default
# loader (no hashes) signed as it is, both with the snakeoil key.
SIGNED_TEST_DIR := $(BUILD)/loader-signed-test
$(SIGNED_TEST_DIR)/loader.conf: tools/mkimage.sh
	@mkdir -p $(@D)
	tools/mkimage.sh --write-config $@ --cmdline test
$(eval $(call signed_loader,$(SIGNED_TEST_DIR),$(SIGNED_TEST_DIR)/loader.conf,$(SNAKEOIL_KEY),$(SNAKEOIL_CERT),SB_PASS=snakeoil))
$(SIGNED_TEST_DIR)/BOOTX64-nohashes.EFI: $(LOADER_EFI) tools/sign.sh
	SB_PASS=snakeoil tools/sign.sh sign --key $(SNAKEOIL_KEY) \
		--cert $(SNAKEOIL_CERT) --in $< --out $@
# The chain loader of the load-options cases (tests/boot/chain.c): it
# starts the signed loader with load options, so it is signed too.
$(SIGNED_TEST_DIR)/chain.obj: tests/boot/chain.c Makefile | $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	$(CLANG) $(LOADER_CFLAGS) -c $< -o $@
$(SIGNED_TEST_DIR)/chain.unsigned.efi: $(SIGNED_TEST_DIR)/chain.obj
	$(LLD_LINK) $(LOADER_LDFLAGS) -out:$@ $^
$(SIGNED_TEST_DIR)/CHAIN.EFI: $(SIGNED_TEST_DIR)/chain.unsigned.efi \
		tools/sign.sh
	SB_PASS=snakeoil tools/sign.sh sign --key $(SNAKEOIL_KEY) \
		--cert $(SNAKEOIL_CERT) --in $< --out $@
SIGNED_TEST_FILES := $(SIGNED_TEST_DIR)/BOOTX64.EFI \
	$(SIGNED_TEST_DIR)/BOOTX64-nohashes.EFI $(SIGNED_TEST_DIR)/loader.conf \
	$(SIGNED_TEST_DIR)/hashes.txt $(SIGNED_TEST_DIR)/CHAIN.EFI

.PHONY: run-secure keys

run-secure: $(DISK_IMG)
	tools/run-qemu.sh --secure --image $(DISK_IMG) --mem $(MEM) \
		--cpu '$(CPU)' --media $(MEDIA) $(RUN_TPM)

# DIR= was checked above; keys.sh refuses the repository, build/ and
# existing keys itself. It reaches keys.sh through the environment.
keys:
	tools/keys.sh --dir "$$DIR"
