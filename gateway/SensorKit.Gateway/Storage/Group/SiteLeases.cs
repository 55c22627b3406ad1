using Npgsql;
using NpgsqlTypes;

namespace SensorKit.Gateway.Storage.Group;

/// <summary>A lease this member holds after a round: the site, its fencing token, and whether it was new this round.</summary>
public readonly record struct HeldLease(string Site, long Token, bool Acquired);

/// <summary>What one lease round found: the live members (sorted) and the leases this member holds now.</summary>
public sealed record LeaseRound(IReadOnlyList<string> Members, IReadOnlyList<HeldLease> Held);

/// <summary>
/// The group's leases in PostgreSQL: one row per site with its holder, its expiry and a fencing token that grows by
/// one with every new holder, and one row per live member. Lease rows rather than advisory locks: an advisory lock
/// lives as long as a database session, so a paused member keeps it while its connection stays open and the state
/// store could not tell its late writes from the new holder's; a token in a row is checked inside every write's
/// transaction (<see cref="ISiteOwnership"/>). Expiry runs on the database's clock only, so members' clocks do not
/// matter.
/// </summary>
public sealed class SiteLeases(NpgsqlDataSource db, GroupOptions options)
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS site_leases (site text PRIMARY KEY, holder text, token bigint NOT NULL, expires timestamptz NOT NULL);
        CREATE TABLE IF NOT EXISTS group_members (member text PRIMARY KEY, expires timestamptz NOT NULL);
        """;

    private readonly string _member = options.Member ?? throw new InvalidOperationException("Group:Member is not set");

    public async Task EnsureSchemaAsync(CancellationToken ct)
    {
        // CREATE TABLE IF NOT EXISTS is not safe against itself: members that start together take turns.
        await using NpgsqlConnection c = await db.OpenConnectionAsync(ct);
        await using NpgsqlTransaction tx = await c.BeginTransactionAsync(ct);
        await using (NpgsqlCommand cmd = new($"SELECT pg_advisory_xact_lock({PostgresDatabase.SchemaLock})", c, tx))
        {
            await cmd.ExecuteNonQueryAsync(ct);
        }

        await using (NpgsqlCommand cmd = new(Schema, c, tx))
        {
            await cmd.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
    }

    /// <summary>
    /// One round, in one transaction: this member's heartbeat, the live members, renewal of the leases it holds and
    /// wants to keep, and the taking of <paramref name="wanted"/> sites that are free or whose lease expired (a new
    /// token each). <paramref name="wanted"/> is computed from the members of the previous round; a site is handed
    /// over by <see cref="ReleaseAsync"/>, never taken from a live holder.
    /// </summary>
    /// <param name="keep">Sites this member holds and serves and wants to keep.</param>
    /// <param name="wanted">Sites this member wants and does not serve now (a new token even if the row is still its own).</param>
    public async Task<LeaseRound> RoundAsync(IReadOnlyCollection<string> keep, IReadOnlyCollection<string> wanted, CancellationToken ct)
    {
        await using NpgsqlConnection c = await db.OpenConnectionAsync(ct);
        await using NpgsqlTransaction tx = await c.BeginTransactionAsync(ct);
        var ttl = new NpgsqlParameter("ttl", NpgsqlDbType.Interval) { Value = options.LeaseTime };
        await using (NpgsqlCommand beat = new("""
            INSERT INTO group_members (member, expires) VALUES (@me, now() + @ttl)
            ON CONFLICT (member) DO UPDATE SET expires = excluded.expires
            """, c, tx))
        {
            beat.Parameters.AddWithValue("me", _member);
            beat.Parameters.Add(ttl.Clone());
            await beat.ExecuteNonQueryAsync(ct);
        }

        var members = new List<string>();
        await using (NpgsqlCommand live = new("SELECT member FROM group_members WHERE expires > now() ORDER BY member", c, tx))
        await using (NpgsqlDataReader r = await live.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                members.Add(r.GetString(0));
            }
        }

        var held = new List<HeldLease>();
        await using (NpgsqlCommand renew = new("""
            UPDATE site_leases SET expires = now() + @ttl
            WHERE holder = @me AND expires > now() AND site = ANY(@sites)
            RETURNING site, token
            """, c, tx))
        {
            renew.Parameters.AddWithValue("me", _member);
            renew.Parameters.Add(ttl.Clone());
            renew.Parameters.AddWithValue("sites", keep.ToArray());
            await ReadHeldAsync(renew, acquired: false, held, ct);
        }

        await using (NpgsqlCommand take = new("""
            INSERT INTO site_leases AS l (site, holder, token, expires)
            SELECT s, @me, 1, now() + @ttl FROM unnest(@sites) AS s
            ON CONFLICT (site) DO UPDATE SET holder = excluded.holder, token = l.token + 1, expires = excluded.expires
                WHERE l.holder IS NULL OR l.holder = @me OR l.expires <= now()
            RETURNING site, token
            """, c, tx))
        {
            take.Parameters.AddWithValue("me", _member);
            take.Parameters.Add(ttl.Clone());
            take.Parameters.AddWithValue("sites", wanted.ToArray());
            await ReadHeldAsync(take, acquired: true, held, ct);
        }

        await tx.CommitAsync(ct);
        return new LeaseRound(members, held);
    }

    private static async Task ReadHeldAsync(NpgsqlCommand cmd, bool acquired, List<HeldLease> into, CancellationToken ct)
    {
        await using NpgsqlDataReader r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            into.Add(new HeldLease(r.GetString(0), r.GetInt64(1), acquired));
        }
    }

    /// <summary>Hands a site back after this member stopped serving it and stored its state; the next holder may take it at once.</summary>
    public async Task ReleaseAsync(string site, long token, CancellationToken ct)
    {
        await using NpgsqlCommand cmd = db.CreateCommand("UPDATE site_leases SET holder = NULL, expires = now() WHERE site = @site AND holder = @me AND token = @token");
        cmd.Parameters.AddWithValue("site", site);
        cmd.Parameters.AddWithValue("me", _member);
        cmd.Parameters.AddWithValue("token", token);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Leaves the group on an orderly stop: the member row goes, so the others rebalance without waiting for its expiry.</summary>
    public async Task LeaveAsync(CancellationToken ct)
    {
        await using NpgsqlCommand cmd = db.CreateCommand("DELETE FROM group_members WHERE member = @me");
        cmd.Parameters.AddWithValue("me", _member);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Which member should serve <paramref name="site"/>: rendezvous hashing over the live members, so a member
    /// joining or leaving moves only the sites it gains or loses, and every member computes the same answer.
    /// </summary>
    public static string OwnerOf(string site, IReadOnlyList<string> members)
    {
        string best = members[0];
        ulong bestScore = 0;
        foreach (string m in members)
        {
            ulong score = System.IO.Hashing.XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(m + "\n" + site));
            if (score > bestScore || (score == bestScore && string.CompareOrdinal(m, best) < 0))
            {
                (best, bestScore) = (m, score);
            }
        }

        return best;
    }
}
