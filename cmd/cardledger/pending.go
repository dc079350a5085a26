package main

import (
	"context"
	"errors"
)

var errNotWired = errors.New("not available in this build yet")

func runProjections(context.Context, *environment, []string) error { return errNotWired }
func runBlacklist(context.Context, *environment, []string) error   { return errNotWired }
func runSeed(context.Context, *environment, []string) error        { return errNotWired }
func runImport(context.Context, *environment, []string) error      { return errNotWired }
func runBatch(context.Context, *environment, []string) error       { return errNotWired }
func runSimulate(context.Context, *environment, []string) error    { return errNotWired }
