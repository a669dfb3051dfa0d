from ohsc.cli import main

main()
