using SensorKit.Gateway.Rules;

namespace SensorKit.Tests.Gateway.Alerting;

/// <summary>Every hazard rule has a registered kind; a rule of no registered kind is an error naming its key, never a silent default.</summary>
public sealed class RuleKindTests
{
    [Fact]
    public void Every_kind_is_registered_once_with_its_own_section_and_keys()
    {
        Assert.Equal(["Threshold", "RateOfChange", "Baseline"], RuleKinds.All.Select(k => k.Section));
        Assert.Equal(["threshold", "rate-of-change", "baseline"], RuleKinds.All.Select(k => k.Name));
        Assert.Equal(["Above", "Below", "Rise", "Fall", "DropPercent", "RisePercent"], RuleKinds.AllKeys.Select(k => k.Name));
        Assert.Equal(RuleKinds.AllKeys.Count, RuleKinds.AllKeys.Select(k => k.Name).Distinct().Count());
    }

    [Fact]
    public void Every_rule_list_of_the_options_is_read_by_a_kind()
    {
        Assert.Empty(RuleCatalog.UnregisteredLists(new RulesOptions()));
    }

    [Fact]
    public void A_rule_of_no_registered_kind_is_an_error_naming_its_key()
    {
        var errors = new List<string>();

        RuleValidation.Validate(new UnknownKindRuleOptions { Id = "x", Quantity = "temperature" }, "rules.json: Mystery:0 (rule 'x')", errors);

        Assert.Contains(errors, e => e.StartsWith("rules.json: Mystery:0 (rule 'x'): no rule kind is registered for UnknownKindRuleOptions", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(typeof(ThresholdRuleOptions), "threshold")]
    [InlineData(typeof(RateOfChangeRuleOptions), "rate-of-change")]
    [InlineData(typeof(BaselineRuleOptions), "baseline")]
    public void Each_options_type_has_its_kind(Type options, string kind) =>
        Assert.Equal(kind, RuleKinds.Of((HazardRuleOptions)Activator.CreateInstance(options)!)?.Name);

    private sealed class UnknownKindRuleOptions : HazardRuleOptions;
}
