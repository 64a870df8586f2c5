import ErgonCLI
ErgonCommand.main()
