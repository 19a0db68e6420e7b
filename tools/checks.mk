# Checks of the variables people type (MEM=, CPU=, CMDLINE=, FONT=,
# OVMF_CODE=/OVMF_VARS=, MEDIA=, MACHINE=, DEV=, TPM=), made while make reads
# the Makefile, so a bad value is one line naming the variable and what it
# takes, before any build step, and make exits 2. Each is checked only
# for the goals that use it. Included by the top Makefile after the
# defaults; tests/tools/ runs each refusal.

check_goals := $(or $(MAKECMDGOALS),all)
# Goals that read none of these variables.
quiet_goals := help clean deps format keys
builds := $(filter-out $(quiet_goals),$(check_goals))
ovmf_runs := $(filter run run-kvm,$(check_goals))
direct_runs := $(filter run-direct run-direct-kvm,$(check_goals))
# Goals that write CMDLINE into \boot\loader.conf.
conf_goals := $(filter all image run run-kvm run-secure usb,$(check_goals))

comma := ,
# $(call strip_chars,TEXT,CHARS): TEXT without any of the CHARS (a word
# list); empty when TEXT holds nothing else (spaces aside).
strip_chars = $(if $2,$(call strip_chars,$(subst $(firstword $2),,$1),$(wordlist 2,$(words $2),$2)),$1)
digits := 0 1 2 3 4 5 6 7 8 9
# Each digit as a word of its own, to count them.
spread_digits = $(subst 0,0 ,$(subst 1,1 ,$(subst 2,2 ,$(subst 3,3 ,$(subst 4,4 ,\
	$(subst 5,5 ,$(subst 6,6 ,$(subst 7,7 ,$(subst 8,8 ,$(subst 9,9 ,$1))))))))))
# $(call is_number,TEXT): non-empty when TEXT is one to nine decimal
# digits (so the shell's test can compare it).
is_number = $(and $(filter 1,$(words $1)),$(if $(strip $(call strip_chars,$1,$(digits))),,y),$(if $(word 10,$(call spread_digits,$1)),,y))

# The least memory each kind of boot needs, from tools/run-qemu.sh (where
# it was measured and is enforced too).
mem_min_ovmf = $(shell sed -n 's/^mem_min_ovmf=//p' tools/run-qemu.sh)
mem_min_pvh = $(shell sed -n 's/^mem_min_pvh=//p' tools/run-qemu.sh)

# $(call check_mem,MIN,WHAT): MEM is read with $(value), so a '$' in it
# is reported, not expanded.
define check_mem
$(if $(call is_number,$(value MEM)),,$(error MEM='$(value MEM)': MEM= takes the guest memory in MiB, a whole number of at least $1 for $2 (default 256)))
$(if $(shell [ $(value MEM) -ge $1 ] && echo y),,$(error MEM=$(value MEM): $2 needs at least $1 MiB (measured: less hangs or fails); MEM= takes MiB, at least $1))
endef

ifneq ($(ovmf_runs),)
$(eval $(call check_mem,$(mem_min_ovmf),make $(firstword $(ovmf_runs)) (OVMF)))
endif
ifneq ($(direct_runs),)
$(eval $(call check_mem,$(mem_min_pvh),make $(firstword $(direct_runs)) (PVH)))
endif

# A QEMU CPU model with its +/- flags, as `qemu-system-x86_64 -cpu help`
# lists them; anything else (a space, a quote) is a typo.
cpu_chars := a b c d e f g h i j k l m n o p q r s t u v w x y z \
	A B C D E F G H I J K L M N O P Q R S T U V W X Y Z \
	$(digits) $(comma) . _ + = -
ifneq ($(ovmf_runs)$(direct_runs)$(filter run-secure,$(check_goals)),)
ifeq ($(strip $(value CPU)),)
$(error CPU= is empty; it takes a QEMU CPU model, e.g. qemu64, Haswell or qemu64,-nx (qemu-system-x86_64 -cpu help lists them))
endif
ifneq ($(words $(value CPU))$(strip $(call strip_chars,$(value CPU),$(cpu_chars))),1)
$(error CPU='$(value CPU)': CPU= takes a QEMU CPU model such as qemu64, Haswell or qemu64,-nx (letters, digits and , . _ + = -))
endif
endif

# TPM=1 adds swtpm to an OVMF run; nothing else reads it.
ifneq ($(ovmf_runs)$(filter run-secure,$(check_goals)),)
ifneq ($(filter-out 0 1,$(value TPM))$(filter-out 1,$(words $(value TPM))),)
$(error TPM='$(value TPM)': TPM= takes 1 (a TPM 2.0 from swtpm beside QEMU) or 0 (none, the default))
endif
endif

ifneq ($(builds),)
ifneq ($(filter-out sata usb nvme,$(MEDIA))$(filter-out 1,$(words $(MEDIA))),)
$(error MEDIA='$(MEDIA)': MEDIA= takes sata (the default), usb or nvme)
endif
ifneq ($(filter-out q35 pc,$(MACHINE))$(filter-out 1,$(words $(MACHINE))),)
$(error MACHINE='$(MACHINE)': MACHINE= takes q35 (the default) or pc (i440fx))
endif

# FONT: one existing file (make cannot take a path with spaces as a
# prerequisite); its PSF magic is checked when it is embedded.
ifeq ($(words $(FONT)),0)
$(error FONT= is empty; it takes a PSF1 or PSF2 console font file, gzip'd or not (default /usr/share/consolefonts/Lat15-Terminus16.psf.gz))
endif
ifneq ($(words $(FONT)),1)
$(error FONT='$(FONT)': FONT= takes one PSF1 or PSF2 font file, and its path cannot hold spaces)
endif
ifeq ($(wildcard $(FONT)),)
$(error FONT=$(FONT): no such file; FONT= takes a PSF1 or PSF2 console font file, gzip'd or not (e.g. from /usr/share/consolefonts/))
endif
ifneq ($(wildcard $(FONT)/.),)
$(error FONT=$(FONT) is a directory; FONT= takes a PSF1 or PSF2 console font file)
endif

# The firmware comes as a pair: a CODE file and the VARS file made for it.
ifneq ($(strip $(OVMF_VARS)),)
ifeq ($(strip $(OVMF_CODE)),)
$(error OVMF_VARS= is set without OVMF_CODE=; give both, the firmware's CODE file and its matching VARS file, or neither (then the usual paths are searched))
endif
endif
ifneq ($(strip $(OVMF_CODE)),)
ifeq ($(strip $(OVMF_VARS)),)
$(error OVMF_CODE= is set without OVMF_VARS=; give both, the firmware's CODE file and its matching VARS file, or neither (then the usual paths are searched))
endif
ifeq ($(wildcard $(OVMF_CODE)),)
$(error OVMF_CODE=$(OVMF_CODE): no such file; OVMF_CODE= takes the firmware's CODE file, e.g. /usr/share/OVMF/OVMF_CODE_4M.fd)
endif
ifeq ($(wildcard $(OVMF_VARS)),)
$(error OVMF_VARS=$(OVMF_VARS): no such file; OVMF_VARS= takes the VARS file matching OVMF_CODE, e.g. /usr/share/OVMF/OVMF_VARS_4M.fd)
endif
endif
endif

# CMDLINE: the bytes as typed ($(value): make would expand a '$'),
# checked by tools/check-cmdline.sh for where they go. The value reaches
# the shell quoted ('...' with each ' as '\''), never as code. A line
# break is caught here: make's $(shell) does not pass one through bash
# intact. (make itself drops leading blanks of a VAR=value argument.)
sh_quote = '$(subst ','\'',$1)'
define newline


endef
ifneq ($(conf_goals)$(direct_runs),)
ifneq ($(findstring $(newline),$(value CMDLINE)),)
$(error CMDLINE: the kernel command line holds a line break; it must be one line)
endif
endif
ifneq ($(conf_goals),)
cmdline_why := $(shell tools/check-cmdline.sh --conf $(call sh_quote,$(value CMDLINE)))
ifneq ($(cmdline_why),)
$(error CMDLINE: $(cmdline_why))
endif
endif
ifneq ($(direct_runs),)
cmdline_why := $(shell tools/check-cmdline.sh --direct $(call sh_quote,$(value CMDLINE)))
ifneq ($(cmdline_why),)
$(error CMDLINE: $(cmdline_why))
endif
endif

ifneq ($(filter usb,$(check_goals)),)
ifeq ($(strip $(value DEV)),)
$(error make usb needs DEV=, the whole USB disk to write, e.g. DEV=/dev/sdb (find it with 'lsblk -o NAME,SIZE,RM,TRAN,MODEL'); nothing was built)
endif
endif
