package io.cascadesfu.signaling.room;

/**
 * What a signaling socket holds after {@code join}: the entry points for its later requests.
 * Every method must be called on the engine's control thread.
 */
public final class ParticipantHandle {
    private final Participant participant;
    private final RoomManager manager;

    ParticipantHandle(Participant participant, RoomManager manager) {
        this.participant = participant;
        this.manager = manager;
    }

    public String participantId() {
        return participant.id;
    }

    public com.fasterxml.jackson.databind.node.ObjectNode publishOffer(String sdp) throws SignalingException {
        return participant.onPublishOffer(sdp);
    }

    public void subscribeAnswer(String sdp, long version) throws SignalingException {
        participant.onSubscribeAnswer(sdp, version);
    }

    public void mute(String trackId, boolean muted) throws SignalingException {
        participant.onMute(trackId, muted);
    }

    public void trackSettings(String trackId, TrackSettings settings) {
        participant.onTrackSettings(trackId, settings);
    }

    public void leave(String reason) {
        manager.leave(participant, reason);
    }
}
