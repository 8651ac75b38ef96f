package sampledata

//go:generate go run ./gen -o ../../testdata/mxone
