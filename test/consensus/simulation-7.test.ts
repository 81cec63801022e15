import { simulationSuite } from './simulation-suite.js'

simulationSuite(7, 500, 7_000_000)
