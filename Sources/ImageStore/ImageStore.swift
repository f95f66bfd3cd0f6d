// The ImageStore module; see Package.swift for its job.
