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
