"""The quality lab: test suites, evaluators, the LLM judge, runs, comparisons and judge agreement."""
