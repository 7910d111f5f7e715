"""The example folders under data/ are corpus suites run by the program judge, not tests of sse."""

collect_ignore_glob = ["data/*", "solutions/*"]
