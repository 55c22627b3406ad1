namespace SensorKit.Gateway.Rules;

/// <summary>What the hazard rules keep per rule and node, and per alert subject.</summary>
public sealed partial class RuleEngine
{
    /// <summary>All conditions of one rule on one node, and the level they give together.</summary>
    private sealed class RuleNode(CompiledRule rule, string site, string node, HazardSubject subject)
    {
        public CompiledRule Rule { get; } = rule;

        public string Site { get; } = site;

        public string Node { get; } = node;

        public HazardSubject Subject { get; } = subject;

        /// <summary>By sensor id.</summary>
        public Dictionary<string, ConditionState> Primary { get; } = new(StringComparer.Ordinal);

        /// <summary>By sensor id; used only while the node publishes no primary quantity.</summary>
        public Dictionary<string, ConditionState> Fallback { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, ConditionState>[] Also { get; } = [.. rule.Also.Select(_ => new Dictionary<string, ConditionState>(StringComparer.Ordinal))];

        public int Level { get; private set; }

        /// <summary>The channel that weighs most: the highest level, then the most extreme measure.</summary>
        public ConditionState? Lead { get; private set; }

        public DateTimeOffset LastWindow { get; set; } = DateTimeOffset.MinValue;

        public IEnumerable<Dictionary<string, ConditionState>> AllStates()
        {
            yield return Primary;
            yield return Fallback;
            foreach (Dictionary<string, ConditionState> also in Also)
            {
                yield return also;
            }
        }

        /// <summary>True when <see cref="Level"/> changed.</summary>
        public bool Recompute()
        {
            Dictionary<string, ConditionState> source = Primary.Count > 0 ? Primary : Fallback;
            int level = 0;
            ConditionState? lead = null;
            foreach (ConditionState s in source.Values)
            {
                if (lead is null || s.Level > level || (s.Level == level && Weighs(s, lead, Rule.Primary.Above)))
                {
                    lead = s;
                    level = s.Level;
                }
            }

            // Every further condition must hold on some sensor of the node to raise; once raised, the primary
            // condition alone decides when it ends (a temperature rise with smoke is over long before the smoke).
            for (int i = 0; level > 0 && Level == 0 && i < Also.Length; i++)
            {
                bool holds = false;
                foreach (ConditionState s in Also[i].Values)
                {
                    holds |= s.Level > 0;
                }

                if (!holds)
                {
                    level = 0;
                }
            }

            Lead = lead;
            bool changed = level != Level;
            Level = level;
            return changed;
        }

        public static bool Weighs(ConditionState a, ConditionState b, bool above)
        {
            if (a.Level != b.Level)
            {
                return a.Level > b.Level;
            }

            if (!double.IsFinite(b.Measured))
            {
                return double.IsFinite(a.Measured);
            }

            return above ? a.Measured > b.Measured : a.Measured < b.Measured;
        }
    }

    /// <summary>The nodes behind one alert: one node, or every node of a site for k-of-n rules.</summary>
    private sealed class HazardSubject(CompiledRule rule, string site, string subject)
    {
        public CompiledRule Rule { get; } = rule;

        public string Site { get; } = site;

        public string Subject { get; } = subject;

        public bool IsArea { get; } = rule.IsArea;

        public Dictionary<string, RuleNode> Nodes { get; } = new(StringComparer.Ordinal);

        /// <summary>A node's level changed since the grade was last compared.</summary>
        public bool Dirty { get; set; }

        // Settling: the window being collected, who reported it, and since when (gateway clock).
        public bool Pending { get; set; }

        public DateTimeOffset PendingSince { get; set; }

        public DateTimeOffset Window { get; set; }

        public DateTimeOffset FlushedWindow { get; set; } = DateTimeOffset.MinValue;

        public HashSet<string> Reported { get; } = new(StringComparer.Ordinal);
    }
}
