# frozen_string_literal: true

module OctoStore
  # One holder of a lock (a semaphore has up to max_holders of them).
  Holder = Struct.new(:holder_id, :fencing_token, :expires_at, :metadata, keyword_init: true)

  # A lock as #status, #watch, #list and the prefix watch report it. Only name, status and
  # revision are set when the lock is free.
  #
  # holder_id, fencing_token, expires_at and metadata are the holder's (a semaphore's: the
  # holder with the lowest fencing token); #holders lists every holder and #max_holders
  # says how many the lock admits. A lock kept only by a lock-delay is held with holder_id
  # nil and #available_at set (when it can be taken again).
  LockState = Struct.new(:name, :status, :revision, :holder_id, :fencing_token, :expires_at, :metadata,
                         :max_holders, :holders, :available_at, keyword_init: true) do
    # Whether someone holds the lock (or a lock-delay keeps it).
    def held?
      status == 'held'
    end

    # Whether a lock-delay, not a holder, keeps the lock.
    def delayed?
      held? && holder_id.nil?
    end

    # How many hold the lock now (0 when free or kept by a lock-delay).
    def holder_count
      Array(holders).size
    end

    # @param s [OctoStore::LockStatus] the generated model
    def self.from(s)
      holders = Array(s.holders).map do |h|
        Holder.new(holder_id: h.holder_id, fencing_token: h.fencing_token, expires_at: h.expires_at,
                   metadata: h.metadata)
      end
      new(name: s.name, status: s.status.to_s, revision: s.revision.to_i, holder_id: s.holder_id,
          fencing_token: s.fencing_token, expires_at: s.expires_at, metadata: s.metadata,
          max_holders: s.max_holders, holders: holders, available_at: s.available_at)
    end
  end

  # One answer of Client#watch_prefix: the locks under the prefix that changed past the
  # index sent, by name (a released or expired one has status "free"), and the index to
  # watch from next. When #complete is false the server no longer remembered every lock
  # freed since that index: #changes then holds every held lock under the prefix, and any
  # other lock the caller knew of is free.
  PrefixChanges = Struct.new(:index, :changes, :complete, keyword_init: true) do
    alias_method :complete?, :complete
  end

  # The current leader of an Election: its published value and its lease's fencing token.
  Leader = Struct.new(:value, :holder_id, :fencing_token, :revision, keyword_init: true) do
    # @param state [LockState]
    # @return [Leader, nil] nil when nobody leads (also while a lock-delay keeps the lock)
    def self.from(state)
      return nil if !state.held? || state.delayed?

      new(value: state.metadata, holder_id: state.holder_id, fencing_token: state.fencing_token,
          revision: state.revision)
    end
  end
end
