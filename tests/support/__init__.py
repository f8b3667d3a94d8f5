"""Helpers shared by the tests (and a few benchmarks), one package, imported as `support.<module>`:
pytest puts tests/ on the import path (pyproject.toml: [tool.pytest.ini_options] pythonpath), so no
test edits sys.path.

  apptest.py            paths of the AppTest projects, readers of their scores and audit, re-ranking
  browser.py            a served app on a free loopback port and Debian's Chromium through Playwright
  shapes.py             the tiny learnable shapes dataset the trainer tests train on
  many_classes.py       the synthetic class000..classNNN dataset (many-class tests, bench_many_classes)
  many_class_project.py a real project with many classes for the app tests
  slow_face/            a sitecustomize.py that makes one test server hold the Review page's face back
                        (the key guard's browser test), so the product carries no test hook"""
