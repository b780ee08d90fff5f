from deeptempo_entrypoint.cli import main

main()
