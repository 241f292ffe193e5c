// ConnwatchSimulator: see README.md (Architecture).
