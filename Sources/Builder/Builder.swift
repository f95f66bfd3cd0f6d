// The Builder module; see Package.swift for its job.
