# bench_secbuf: ns per secbuf_new + secbuf_free (the guarded-memory pool).
# Built, not registered with ctest.
add_executable(bench_secbuf ${CMAKE_CURRENT_SOURCE_DIR}/bench_secbuf.c)
target_link_libraries(bench_secbuf PRIVATE vault Threads::Threads)
vault_harden(bench_secbuf)
