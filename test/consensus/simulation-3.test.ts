import { simulationSuite } from './simulation-suite.js'

simulationSuite(3, 1000, 3_000_000)
