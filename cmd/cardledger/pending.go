package main

import (
	"context"
	"errors"
)

var errNotWired = errors.New("not available in this build yet")

func runSeed(context.Context, *environment, []string) error     { return errNotWired }
func runImport(context.Context, *environment, []string) error   { return errNotWired }
func runBatch(context.Context, *environment, []string) error    { return errNotWired }
func runSimulate(context.Context, *environment, []string) error { return errNotWired }
