from nimgen.cli import main

main()
