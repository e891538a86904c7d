# bench_store: the value envelope and the SQLite store (seal+open, durable
# put, get with 100k secrets, size per 1k). Built, not registered with ctest.
add_executable(bench_store ${CMAKE_CURRENT_SOURCE_DIR}/bench_store.c)
target_link_libraries(bench_store PRIVATE vault Threads::Threads)
vault_harden(bench_store)
