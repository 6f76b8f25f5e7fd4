from airrc.cli import main

main()
