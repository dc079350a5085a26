package main

import (
	"context"
	"errors"
)

var errNotWired = errors.New("not available in this build yet")

func runServe(context.Context, *environment, []string) error       { return errNotWired }
func runProject(context.Context, *environment, []string) error     { return errNotWired }
func runProjections(context.Context, *environment, []string) error { return errNotWired }
func runMigrate(context.Context, *environment, []string) error     { return errNotWired }
func runBlacklist(context.Context, *environment, []string) error   { return errNotWired }
func runSeed(context.Context, *environment, []string) error        { return errNotWired }
func runImport(context.Context, *environment, []string) error      { return errNotWired }
func runBatch(context.Context, *environment, []string) error       { return errNotWired }
func runSimulate(context.Context, *environment, []string) error    { return errNotWired }
func runBench(context.Context, *environment, []string) error       { return errNotWired }
