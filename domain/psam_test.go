package domain

import (
	"errors"
	"reflect"
	"testing"
)

func givenPSAM(t *testing.T, events ...Event) *PSAM {
	t.Helper()
	p := &PSAM{}
	for _, e := range events {
		if err := p.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

var psamIn = PSAMStockedIn{Serial: "PS0001", Model: "M1", Warehouse: "central", ReceivedOn: "2025-01-02"}

func TestPSAMLifecycle(t *testing.T) {
	tests := []struct {
		name  string
		given []Event
		cmd   PSAMCommand
		want  []Event
		code  string
	}{
		{"stock in", nil, StockInPSAM{Serial: "PS0001", Model: "M1", Warehouse: "central", ReceivedOn: "2025-01-02"}, []Event{psamIn}, ""},
		{"stock in twice", []Event{psamIn}, StockInPSAM{Serial: "PS0001", Warehouse: "w", ReceivedOn: "2025-01-02"}, nil, CodePSAMExists},
		{"bad serial", nil, StockInPSAM{Serial: "P-1", Warehouse: "w", ReceivedOn: "2025-01-02"}, nil, CodeInvalidCommand},
		{"issue unknown", nil, IssuePSAM{Serial: "PS0001", Agency: "A", On: "2025-01-03"}, nil, CodePSAMNotFound},
		{"issue", []Event{psamIn}, IssuePSAM{Serial: "PS0001", Agency: "bank-3", TerminalID: "T9", On: "2025-01-03"},
			[]Event{PSAMIssued{Serial: "PS0001", Agency: "bank-3", TerminalID: "T9", On: "2025-01-03"}}, ""},
		{"issue twice", []Event{psamIn, PSAMIssued{Serial: "PS0001", Agency: "A"}}, IssuePSAM{Serial: "PS0001", Agency: "B", On: "2025-01-03"}, nil, CodeInvalidTransition},
		{"damaged while issued keeps the holder", []Event{psamIn, PSAMIssued{Serial: "PS0001", Agency: "A"}}, ReportPSAMDamaged{Serial: "PS0001", Reason: "cracked", On: "2025-02-01"},
			[]Event{PSAMDamaged{Serial: "PS0001", Agency: "A", Reason: "cracked", On: "2025-02-01"}}, ""},
		{"lost in stock", []Event{psamIn}, ReportPSAMLost{Serial: "PS0001", Reason: "inventory", On: "2025-02-01"},
			[]Event{PSAMLost{Serial: "PS0001", Reason: "inventory", On: "2025-02-01"}}, ""},
		{"nothing after loss", []Event{psamIn, PSAMLost{Serial: "PS0001", Reason: "x"}}, IssuePSAM{Serial: "PS0001", Agency: "A", On: "2025-01-03"}, nil, CodeInvalidTransition},
		{"return to stock", []Event{psamIn, PSAMIssued{Serial: "PS0001", Agency: "A"}}, ReturnPSAM{Serial: "PS0001", Warehouse: "central", On: "2025-03-01"},
			[]Event{PSAMReturned{Serial: "PS0001", Agency: "A", Warehouse: "central", On: "2025-03-01"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecidePSAM(givenPSAM(t, tt.given...), tt.cmd)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// A bad date is named as the command's field: received_on on a stock-in,
// on everywhere else, so the caller knows which field of its body to fix.
func TestPSAMDateErrorsNameTheCommandsField(t *testing.T) {
	for cmd, field := range map[PSAMCommand]string{
		StockInPSAM{Serial: "PS0001", Warehouse: "central"}: "received_on",
		IssuePSAM{Serial: "PS0001", Agency: "bank-3"}:       "on",
	} {
		_, err := DecidePSAM(givenPSAM(t, psamIn), cmd)
		var de *Error
		if !errors.As(err, &de) || len(de.Fields) != 1 || de.Fields[0].Field != field {
			t.Fatalf("%T: got %v; want one field error on %s", cmd, err, field)
		}
	}
}
