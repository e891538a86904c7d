# loadgen: vaultd read/write load generator for bench_vaultd.sh (a benchmark
# tool, built with everything but never run by ctest).
add_executable(loadgen ${CMAKE_CURRENT_LIST_DIR}/loadgen.c)
target_link_libraries(loadgen PRIVATE PkgConfig::SODIUM)
vault_harden(loadgen)
