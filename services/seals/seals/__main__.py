from .bootstrap import run

run()
