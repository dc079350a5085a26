package seed

// Progress is told what the seeder is doing; the command line shows it
// (cmd/cardledger: a bar on a terminal, log lines otherwise).
type Progress interface {
	// Phase starts a phase of total steps.
	Phase(name string, total int)
	// Add reports n more steps done.
	Add(n int)
	// Finish ends the current phase.
	Finish()
}

// NoProgress reports nothing.
type NoProgress struct{}

func (NoProgress) Phase(string, int) {}
func (NoProgress) Add(int)           {}
func (NoProgress) Finish()           {}
