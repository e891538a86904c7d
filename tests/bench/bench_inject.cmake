# bench_inject: inject's start-up time against tini and its peak RSS
# (bench_inject.sh, hyperfine), against a real vaultd and against a canned
# stand-in (bench_inject_server) that isolates inject's own cost.
# Not a test: `cmake --build B --target bench_inject`.
add_executable(bench_inject_server ${CMAKE_CURRENT_LIST_DIR}/bench_inject_server.c)
vault_harden(bench_inject_server)
if(TARGET inject AND TARGET vaultd)
  add_custom_target(bench_inject
    COMMAND ${CMAKE_COMMAND} -E env VAULTD_BIN=$<TARGET_FILE:vaultd> INJECT_BIN=$<TARGET_FILE:inject>
            BENCH_SERVER_BIN=$<TARGET_FILE:bench_inject_server>
            bash ${CMAKE_CURRENT_LIST_DIR}/bench_inject.sh
    DEPENDS inject vaultd bench_inject_server
    USES_TERMINAL
    COMMENT "Benchmarking inject against tini")
endif()
