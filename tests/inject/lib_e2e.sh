# Shared by the inject end-to-end tests (sourced first): the private mount
# namespace they run in, and the tmpfs for secrets of those that run inject
# as an ordinary process.

# e2e_private_mounts "$@": runs the script again (as root) in a private
# mount namespace, so nothing it mounts is seen outside and all of it is
# gone when it ends. Returns only in the new namespace (or when not root:
# the script then skips through vt_need_root).
e2e_private_mounts() {
	if [ -z "${E2E_IN_NS:-}" ] && [ "$(id -u)" -eq 0 ]; then
		exec unshare --mount --propagation private env E2E_IN_NS=1 bash "$0" "$@"
	fi
}

# e2e_secrets_tmpfs: a tmpfs at $S=$VT_DIR/secrets (after vt_setup),
# unmounted at exit along with vt_cleanup.
e2e_secrets_tmpfs() {
	S=$VT_DIR/secrets
	mkdir -p "$S"
	mount -t tmpfs -o mode=0755,size=1m tmpfs "$S" || vt_die "cannot mount a tmpfs"
	trap 'umount "$S" 2>/dev/null; vt_cleanup' EXIT
}
