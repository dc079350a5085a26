package domain

import (
	"fmt"
)

// EncodeBatchEvent and DecodeBatchEvent are the codec of the batch and PSAM
// aggregates' events, kept apart from the cardholder codec so that
// cardholder projections skip these types as unknown.
func EncodeBatchEvent(e Event) (eventType string, data []byte, err error) {
	return batchCodec.encode(e)
}

// DecodeBatchEvent reads a payload written by EncodeBatchEvent; an unknown
// type is ErrUnknownEventType.
func DecodeBatchEvent(eventType string, data []byte) (Event, error) {
	return batchCodec.decode(eventType, data)
}

var batchCodec = codec{family: "batch event", zero: batchZero}

func batchZero(eventType string) (decoder, error) {
	switch eventType {
	case "BatchCreated":
		return decoderOf[BatchCreated]{}, nil
	case "BatchMembersAdded":
		return decoderOf[BatchMembersAdded]{}, nil
	case "BatchReviewed":
		return decoderOf[BatchReviewed]{}, nil
	case "BatchConfirmed":
		return decoderOf[BatchConfirmed]{}, nil
	case "BatchFileExported":
		return decoderOf[BatchFileExported]{}, nil
	case "BatchReturnAccepted":
		return decoderOf[BatchReturnAccepted]{}, nil
	case "BatchReturnRowsAdded":
		return decoderOf[BatchReturnRowsAdded]{}, nil
	case "BatchHandedOver":
		return decoderOf[BatchHandedOver]{}, nil
	case "BatchPickedUp":
		return decoderOf[BatchPickedUp]{}, nil
	case "BatchJobProgressed":
		return decoderOf[BatchJobProgressed]{}, nil
	case "BatchMembersReleased":
		return decoderOf[BatchMembersReleased]{}, nil
	case "BatchJobRetried":
		return decoderOf[BatchJobRetried]{}, nil
	case "BatchJobCompleted":
		return decoderOf[BatchJobCompleted]{}, nil
	case "PSAMStockedIn":
		return decoderOf[PSAMStockedIn]{}, nil
	case "PSAMIssued":
		return decoderOf[PSAMIssued]{}, nil
	case "PSAMReturned":
		return decoderOf[PSAMReturned]{}, nil
	case "PSAMDamaged":
		return decoderOf[PSAMDamaged]{}, nil
	case "PSAMLost":
		return decoderOf[PSAMLost]{}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownEventType, eventType)
}
