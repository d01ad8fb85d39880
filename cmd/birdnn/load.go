package main

import (
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/property"
)

// loadNet reads a network from a path as configs write it: a file, data:REL (in the ACAS Xu data folder)
// or builtin:REL (the embedded files).
func loadNet(path string) (*nn.Network, error) {
	p, err := datasets.Resolve(path)
	if err != nil {
		return nil, err
	}
	return netio.Load(p)
}

// readProperty reads a VNN-LIB property from a path as loadNet takes it.
func readProperty(path string) (*property.Property, error) {
	p, err := datasets.Resolve(path)
	if err != nil {
		return nil, err
	}
	return property.ReadFile(p)
}
