import RibbonCLI

RibbonCommand.main()
