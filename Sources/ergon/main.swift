import ErgonCLI
import Foundation

exit(await ErgonCommand.runMain())
