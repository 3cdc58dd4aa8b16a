################################################################################
#
# pinvr
#
################################################################################

# Built from the repository this BR2_EXTERNAL tree lives in.
PINVR_VERSION = local
PINVR_SITE = $(BR2_EXTERNAL_PINVR_PATH)/..
PINVR_SITE_METHOD = local
PINVR_LICENSE = MIT
PINVR_LICENSE_FILES = LICENSE

# Keep the rsync small (the image's own files, board/ and overlay/, and
# the qemu tests are no part of the binary) and leave out the developer's
# cross-build .cargo/config.toml: the vendoring hook below writes
# Buildroot's own.
PINVR_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	--exclude /target --exclude /.cargo --exclude /buildroot \
	--exclude /board --exclude /overlay --exclude /appliance-test \
	--exclude /demo --exclude /tests/out --exclude /bench

# Local sources skip the download step, where the cargo infrastructure
# normally vendors crates (support/download/cargo-post-process). Vendor
# them here instead, the same way: into VENDOR/, with the same cargo
# home in $(DL_DIR) and its lock. Try offline first, so that a
# $(DL_DIR) that already holds every crate needs no network.
define PINVR_CARGO_VENDOR
	mkdir -p $(@D)/.cargo $(BR_CARGO_HOME)
	cd $(@D) && \
	( $(HOST_MAKE_ENV) $(PKG_COMMON_CARGO_ENV) \
		flock $(BR_CARGO_HOME)/.br-lock \
		cargo vendor --locked --offline VENDOR \
		> .cargo/config.toml 2>/dev/null || \
	  $(HOST_MAKE_ENV) $(PKG_COMMON_CARGO_ENV) \
		flock $(BR_CARGO_HOME)/.br-lock \
		cargo vendor --locked VENDOR \
		> .cargo/config.toml )
endef
PINVR_PRE_BUILD_HOOKS += PINVR_CARGO_VENDOR

$(eval $(cargo-package))
