# loadgen: vaultd read/write load generator for bench_vaultd.sh (a benchmark
# tool, built with everything but never run by ctest).
add_executable(loadgen ${CMAKE_CURRENT_LIST_DIR}/loadgen.c)
target_link_libraries(loadgen PRIVATE PkgConfig::SODIUM)
vault_harden(loadgen)

# mhd_hello: libmicrohttpd alone with vaultd's flags, the HTTP layer's ceiling
# in bench_vaultd.sh (built with everything, never run by ctest).
add_executable(mhd_hello ${CMAKE_CURRENT_LIST_DIR}/mhd_hello.c)
target_link_libraries(mhd_hello PRIVATE PkgConfig::MHD)
vault_harden(mhd_hello)

# vaultd_uncommitted: vaultd whose read audit entries are not committed to the
# store (audit_uncommitted.c), the cost of that commit in bench_vaultd.sh
# (built with everything, never run by ctest, never installed).
add_executable(vaultd_uncommitted ${CMAKE_CURRENT_LIST_DIR}/audit_uncommitted.c)
target_link_libraries(vaultd_uncommitted PRIVATE vaultd_objects)
target_link_options(vaultd_uncommitted PRIVATE -Wl,--wrap=store_audit_append_unsynced)
vault_harden(vaultd_uncommitted)
