# frozen_string_literal: true

module OctoStore
  # A lock as #status, #watch and #list report it. Only name, status and revision are set
  # when the lock is free.
  LockState = Struct.new(:name, :status, :revision, :holder_id, :fencing_token, :expires_at, :metadata,
                         keyword_init: true) do
    # Whether someone holds the lock.
    def held?
      status == 'held'
    end

    # @param s [OctoStore::LockStatus] the generated model
    def self.from(s)
      new(name: s.name, status: s.status.to_s, revision: s.revision.to_i, holder_id: s.holder_id,
          fencing_token: s.fencing_token, expires_at: s.expires_at, metadata: s.metadata)
    end
  end

  # The current leader of an Election: its published value and its lease's fencing token.
  Leader = Struct.new(:value, :holder_id, :fencing_token, :revision, keyword_init: true) do
    # @param state [LockState]
    # @return [Leader, nil] nil when nobody leads
    def self.from(state)
      return nil unless state.held?

      new(value: state.metadata, holder_id: state.holder_id, fencing_token: state.fencing_token,
          revision: state.revision)
    end
  end
end
