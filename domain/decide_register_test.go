package domain

import (
	"strings"
	"testing"
)

func registerCmd() RegisterCardholder {
	return RegisterCardholder{
		CardholderID: testHolderID, IDNumber: testIDNumber, Name: " 张三 ", Nationality: "CHN",
		RegionCode: "320505", Phone: "13800138000", EmployerCode: "91320500MA1X", CommunityCode: "320505001001",
	}
}

func TestRegisterRecordsBirthDateAndSexFromTheIDNumber(t *testing.T) {
	c := given(t).when(registerCmd()).thenEvents(CardholderRegistered{
		CardholderID: testHolderID, IDNumber: testIDNumber, Name: "张三", Sex: Male, BirthDate: "1990-03-07",
		Nationality: "CHN", RegionCode: "320505", Phone: "13800138000",
		EmployerCode: "91320500MA1X", CommunityCode: "320505001001",
	})
	if !c.Registered || c.Profile.Name != "张三" || c.Profile.BirthDate != "1990-03-07" || c.Version != 1 {
		t.Fatalf("state %+v", c)
	}
}

func TestRegisterAcceptsAnXCheckCharacter(t *testing.T) {
	cmd := registerCmd()
	cmd.IDNumber, cmd.Sex, cmd.Phone, cmd.EmployerCode, cmd.CommunityCode = "11010519491231002X", Female, "", "", ""
	given(t).when(cmd).thenEvents(CardholderRegistered{
		CardholderID: testHolderID, IDNumber: "11010519491231002X", Name: "张三", Sex: Female,
		BirthDate: "1949-12-31", Nationality: "CHN", RegionCode: "320505",
	})
}

func TestRegisterRefusesASecondRegistration(t *testing.T) {
	e := given(t, registered()).when(registerCmd()).thenError(CodeAlreadyRegistered)
	if e.Kind != KindConflict {
		t.Fatalf("kind %s", e.Kind)
	}
}

func TestRegisterFieldRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*RegisterCardholder)
		field  string
		code   string
	}{
		{"cardholder id required", func(c *RegisterCardholder) { c.CardholderID = "" }, "cardholder_id", CodeRequired},
		{"cardholder id of another stream", func(c *RegisterCardholder) { c.CardholderID = "ffff" }, "cardholder_id", CodeMismatch},
		{"id number required", func(c *RegisterCardholder) { c.IDNumber = "" }, "id_number", CodeRequired},
		{"id number check digit", func(c *RegisterCardholder) { c.IDNumber = "320505199003071337" }, "id_number", CodeInvalidIDNumber},
		{"lowercase x", func(c *RegisterCardholder) { c.IDNumber = "11010519491231002x" }, "id_number", CodeInvalidIDNumber},
		{"name required", func(c *RegisterCardholder) { c.Name = "  " }, "name", CodeRequired},
		{"name too long", func(c *RegisterCardholder) { c.Name = strings.Repeat("张", MaxNameLen+1) }, "name", CodeTooLong},
		{"name with a newline", func(c *RegisterCardholder) { c.Name = "张\n三" }, "name", CodeInvalidValue},
		{"sex contradicts id", func(c *RegisterCardholder) { c.Sex = Female }, "sex", CodeSexMismatch},
		{"sex unknown", func(c *RegisterCardholder) { c.Sex = "x" }, "sex", CodeInvalidValue},
		{"nationality required", func(c *RegisterCardholder) { c.Nationality = "" }, "nationality", CodeRequired},
		{"nationality not alpha-3", func(c *RegisterCardholder) { c.Nationality = "CN" }, "nationality", CodeInvalidValue},
		{"region required", func(c *RegisterCardholder) { c.RegionCode = "" }, "region_code", CodeRequired},
		{"region province unknown", func(c *RegisterCardholder) { c.RegionCode = "990100" }, "region_code", CodeInvalidRegionCode},
		{"phone not mobile", func(c *RegisterCardholder) { c.Phone = "02512345678" }, "phone", CodeInvalidPhone},
		{"phone too short", func(c *RegisterCardholder) { c.Phone = "1380013800" }, "phone", CodeInvalidPhone},
		{"employer code with space", func(c *RegisterCardholder) { c.EmployerCode = "a b" }, "employer_code", CodeInvalidValue},
		{"community code too long", func(c *RegisterCardholder) { c.CommunityCode = strings.Repeat("1", 65) }, "community_code", CodeTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := registerCmd()
			tc.change(&cmd)
			given(t).when(cmd).thenFieldError(tc.field, tc.code)
		})
	}
}

func TestRegisterReportsEveryBadFieldAtOnce(t *testing.T) {
	e := given(t).when(RegisterCardholder{CardholderID: testHolderID}).thenError(CodeInvalidCommand)
	want := []string{"id_number:required", "name:required", "nationality:required", "region_code:required"}
	if got := fieldCodes(e); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("fields %v, want %v", got, want)
	}
}

func TestValidationComesBeforeState(t *testing.T) {
	// A malformed command is invalid even when the state would refuse it too.
	cmd := registerCmd()
	cmd.Name = ""
	given(t, registered()).when(cmd).thenFieldError("name", CodeRequired)
}

func TestUnknownAndNilCommands(t *testing.T) {
	given(t).when(nil).thenError(CodeUnknownCommand)
	given(t).when(bogusCommand{}).thenError(CodeUnknownCommand)
}

type bogusCommand struct{}

func (bogusCommand) CommandName() string { return "bogus" }

// bogusCommand claims to be a cardholder command that Decide does not know.
func (bogusCommand) cardholderCommand() {}
