// The Archive module; see Package.swift for its job.
