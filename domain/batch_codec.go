package domain

// EncodeBatchEvent and DecodeBatchEvent are the codec of the batch and PSAM
// aggregates' events, kept apart from the cardholder codec so that
// cardholder projections skip these types as unknown.
func EncodeBatchEvent(e Event) (eventType string, data []byte, err error) {
	return batchCodec.encode(e)
}

// DecodeBatchEvent reads a payload of the given schema version written by
// EncodeBatchEvent; an unknown type is ErrUnknownEventType, an unknown
// version ErrUnknownSchemaVersion (see codec.go).
func DecodeBatchEvent(eventType string, version int, data []byte) (Event, error) {
	return batchCodec.decode(eventType, version, data)
}

// DecodeStoredBatchEvent is DecodeBatchEvent with the version read from the
// stored metadata (StoredSchemaVersion).
func DecodeStoredBatchEvent(eventType string, data, metadata []byte) (Event, error) {
	return batchCodec.decodeStored(eventType, data, metadata)
}

// batchCodec declares the batch and PSAM families; every type is at
// version 1.
var batchCodec = newCodec("batch event",
	schema[BatchCreated](),
	schema[BatchMembersAdded](),
	schema[BatchReviewed](),
	schema[BatchConfirmed](),
	schema[BatchFileExported](),
	schema[BatchReturnAccepted](),
	schema[BatchReturnRowsAdded](),
	schema[BatchHandedOver](),
	schema[BatchPickedUp](),
	schema[BatchJobProgressed](),
	schema[BatchMembersReleased](),
	schema[BatchJobRetried](),
	schema[BatchJobCompleted](),
	schema[PSAMStockedIn](),
	schema[PSAMIssued](),
	schema[PSAMReturned](),
	schema[PSAMDamaged](),
	schema[PSAMLost](),
)
