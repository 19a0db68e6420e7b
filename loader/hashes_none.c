/*
 * The default loader embeds no hashes (loader/hashes.h): it boots the
 * kernel loader.conf names, whatever its bytes, and refuses to boot at
 * all when the firmware says Secure Boot is on (loader/secureboot.c).
 */
#include "loader/hashes.h"

const struct loader_hashes loader_hashes = {.present = 0};
