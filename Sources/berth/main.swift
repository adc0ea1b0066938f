import BerthCLI

BerthMain.main()
