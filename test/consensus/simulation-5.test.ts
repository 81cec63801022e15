import { simulationSuite } from './simulation-suite.js'

simulationSuite(5, 700, 5_000_000)
