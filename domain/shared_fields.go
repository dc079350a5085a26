package domain

// Field checks shared by a cardholder decision and the batch decision that
// promises it. A batch step (a return file, a hand-over, a pick-up) is
// accepted only if every command its job will later decide on a cardholder
// stream passes these very checks, so no person fails while the job applies
// for a value that could have been refused up front.

func openAccountFields(f *fieldErrors, bankCode, accountNo string) {
	f.requiredRef("bank_code", bankCode)
	f.accountNo("account_no", accountNo)
}

func refuseAccountFields(f *fieldErrors, bankCode, reason string) {
	f.requiredRef("bank_code", bankCode)
	f.requiredText("reason", reason, maxTextLen)
}

func productionFields(f *fieldErrors, chipID, vendor string) {
	f.chipID("chip_id", chipID)
	f.ref("vendor", vendor)
}

func productionFailureFields(f *fieldErrors, reason string) {
	f.requiredText("reason", reason, maxTextLen)
}

func handOverFields(f *fieldErrors, from, to, handler string) {
	f.requiredText("from", from, maxRefLen)
	f.requiredText("to", to, maxRefLen)
	f.requiredText("handler", handler, maxRefLen)
	if from != "" && from == to {
		f.add("to", CodeMismatch, "a handover must move the card somewhere else")
	}
}

func issueFields(f *fieldErrors, agency string) {
	f.text("agency", agency, maxRefLen)
}

// applicationBankFields: an application that goes to the bank through a
// batch or a bank channel must name its bank (the bank's account-opening
// return is decided against it).
func applicationBankFields(f *fieldErrors, source ApplicationSource, bankCode string) {
	if source == SourceBank || source == SourceBatch {
		f.requiredRef("bank_code", bankCode)
	} else {
		f.ref("bank_code", bankCode)
	}
}
