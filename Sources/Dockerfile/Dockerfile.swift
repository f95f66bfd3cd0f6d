// The Dockerfile module; see Package.swift for its job.
