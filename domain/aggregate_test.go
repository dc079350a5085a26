package domain

import (
	"reflect"
	"testing"
)

// Every command belongs to exactly one aggregate, so handing it to another
// aggregate's Decide does not compile.
func TestEachCommandBelongsToOneAggregate(t *testing.T) {
	kinds := map[string]reflect.Type{
		"cardholder": reflect.TypeOf((*CardholderCommand)(nil)).Elem(),
		"batch":      reflect.TypeOf((*BatchCommand)(nil)).Elem(),
		"psam":       reflect.TypeOf((*PSAMCommand)(nil)).Elem(),
		"permission": reflect.TypeOf((*PermissionCommand)(nil)).Elem(),
	}
	commands := []struct {
		cmd  Command
		kind string
	}{
		{RegisterCardholder{}, "cardholder"}, {ApplyForCard{}, "cardholder"}, {IssueCard{}, "cardholder"},
		{InstantIssue{}, "cardholder"}, {EraseCardholder{}, "cardholder"}, {RevokeECard{}, "cardholder"},
		{CreateBatch{}, "batch"}, {RetryBatchJob{}, "batch"}, {PickUpBatch{}, "batch"},
		{StockInPSAM{}, "psam"}, {ReportPSAMLost{}, "psam"},
		{RequestPermission{}, "permission"}, {ApprovePermission{}, "permission"}, {RejectPermission{}, "permission"},
	}
	for _, c := range commands {
		cmd, want := c.cmd, c.kind
		for kind, iface := range kinds {
			if got := reflect.TypeOf(cmd).Implements(iface); got != (kind == want) {
				t.Errorf("%T implements the %s command interface: %v, want %v", cmd, kind, got, kind == want)
			}
		}
	}
}

func TestAsCardholderCommandRefusesOtherAggregates(t *testing.T) {
	if _, err := AsCardholderCommand(CreateBatch{}); err == nil {
		t.Fatal("a batch command was accepted as a cardholder command")
	} else if e, ok := AsError(err); !ok || e.Code != CodeUnknownCommand {
		t.Fatalf("error %v, want %s", err, CodeUnknownCommand)
	}
	if c, err := AsCardholderCommand(IssueECard{CardNo: "x"}); err != nil || c != (IssueECard{CardNo: "x"}) {
		t.Fatalf("got %v, %v", c, err)
	}
}
