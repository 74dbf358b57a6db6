import RibbonCLI

// `ribbon run` with a plain command line skips ArgumentParser; anything else goes through it.
RibbonCommand.mainFast()
