from nimgen.cli import run

run()
