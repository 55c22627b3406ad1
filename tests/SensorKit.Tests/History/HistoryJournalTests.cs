using SensorKit.Gateway.History;
using SensorKit.Protocol;
using SensorKit.Tests.Support;
using static SensorKit.Tests.History.HistoryData;

namespace SensorKit.Tests.History;

/// <summary>The journal that holds acknowledged windows until the database has them.</summary>
public sealed class HistoryJournalTests
{
    [Fact]
    public void What_was_appended_and_not_committed_is_read_again_after_a_restart_and_a_torn_tail_is_skipped()
    {
        string dir = TestDirectories.Create("journal");
        TelemetryMessage[] sent = [.. Enumerable.Range(1, 10).Select(i => Window("n1", T0.AddMinutes(i), i, mean: i, backfill: i % 2 == 0, flags: QualityFlags.Stale))];
        using (HistoryJournal journal = HistoryJournal.Open(dir, 1 << 20, 100))
        {
            foreach (TelemetryMessage m in sent)
            {
                Assert.True(journal.TryAppend(m));
            }

            // Read but never committed, as when the process dies before the database commit.
            Assert.Equal(10, journal.Read(new TelemetryMessage[20]));
        }

        // A power cut tore the last frame: part of it reached the disk, zeros follow as after any last frame.
        string segment = Directory.GetFiles(dir).Single();
        byte[] file = File.ReadAllBytes(segment);
        int frame = LastNonZero(file) / 10 + 1;
        using (FileStream f = File.OpenWrite(segment))
        {
            f.Position = (9 * frame) + 40;
            f.Write(new byte[frame - 40]);
        }

        using HistoryJournal again = HistoryJournal.Open(dir, 1 << 20, 100);
        var read = new TelemetryMessage[20];
        int n = again.Read(read);

        Assert.Equal(1, again.Recovered);
        Assert.Equal(9, n);
        Assert.Equal(sent[..9], read[..9]);
        Assert.Equal(1, again.DamagedSegments);
        again.Commit();
        Assert.Single(Directory.GetFiles(dir)); // the recovered segment is gone, the new one remains
    }

    [Fact]
    public void A_segment_of_an_earlier_run_ends_at_its_last_frame_without_counting_damage()
    {
        string dir = TestDirectories.Create("journal-clean");
        using (HistoryJournal journal = HistoryJournal.Open(dir, 1 << 20, 100))
        {
            Assert.True(journal.TryAppend(Window("n1", T0, 1)));
        }

        using HistoryJournal again = HistoryJournal.Open(dir, 1 << 20, 100);
        Assert.Equal(1, again.Read(new TelemetryMessage[20]));
        Assert.Equal(0, again.DamagedSegments);
    }

    private static int LastNonZero(byte[] b)
    {
        int i = b.Length - 1;
        while (i >= 0 && b[i] == 0)
        {
            i--;
        }

        return i;
    }

    [Fact]
    public void A_full_journal_refuses_and_a_rewound_read_returns_the_same_windows()
    {
        string dir = TestDirectories.Create("journal-full");
        using HistoryJournal journal = HistoryJournal.Open(dir, 1 << 20, 100);
        int appended = 0;
        while (journal.TryAppend(Window("n1", T0.AddMinutes(appended), appended)))
        {
            appended++;
        }

        Assert.InRange(journal.Bytes, (1 << 20) - 200, 1 << 20);
        var first = new TelemetryMessage[50];
        var second = new TelemetryMessage[50];
        Assert.Equal(50, journal.Read(first));
        journal.Rewind();
        Assert.Equal(50, journal.Read(second));
        Assert.Equal(first, second);
        Assert.Equal(appended - 50, journal.Read(new TelemetryMessage[appended]));
        journal.Commit();
        Assert.True(journal.Drained);
    }
}
