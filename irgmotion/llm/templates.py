"""Prompt templates: a system prompt and, per task, paraphrased user requests.

Template keys match the authors' annotation files (`<Motion2X_Template>`, ...)
so their JSON reads unchanged; the wording is ours. Placeholders in angle
brackets are filled by the prompt builder: `<Goal_Caption>`, `<Goal_Motion>`,
`<Generated_Motion>`, `<Refinement_Instruction>`.
"""
from __future__ import annotations

SYSTEM_PROMPT = ("You are an assistant that understands and creates 3D human motion. Motions are written "
                 "as sequences of motion tokens.")

TEMPLATES: dict[str, list[str]] = {
    "<Motion2X_Template>": [
        "Describe what the person does in this motion: <Goal_Motion>",
        "<Goal_Motion>\nWrite a short caption for this motion.",
        "What movement is shown here? <Goal_Motion>",
        "Give a one-sentence description of the following motion. <Goal_Motion>",
        "Here is a motion: <Goal_Motion>. Explain in words what the body is doing.",
        "Caption the motion below.\n<Goal_Motion>",
        "Watch this motion and say what happens: <Goal_Motion>",
        "<Goal_Motion>\nSummarise the action performed in this motion.",
        "Tell me, in plain language, what this motion depicts: <Goal_Motion>",
        "Provide a text description for the motion <Goal_Motion>.",
        "Which actions does this motion contain? Answer with a caption. <Goal_Motion>",
    ],
    "<Text2Motion_Template>": [
        "Generate a motion that shows: <Goal_Caption>",
        "Create a human motion for the description \"<Goal_Caption>\".",
        "Produce the motion described by this text: <Goal_Caption>",
        "Animate the following: <Goal_Caption>",
        "Make a person perform this: <Goal_Caption>",
        "Write the motion tokens for: <Goal_Caption>",
        "I need a motion where <Goal_Caption>",
        "Show me a motion matching the caption \"<Goal_Caption>\".",
        "Turn this description into a motion: <Goal_Caption>",
        "Synthesize a 3D human motion: <Goal_Caption>",
        "Please generate movement that fits this text. <Goal_Caption>",
    ],
    "<Goal_Analysis_Template>": [
        "Before generating anything, analyse the goal and list what the motion must contain: <Goal_Caption>",
        "Break this motion request down into its key elements: <Goal_Caption>",
        "What are the critical aspects of this goal? <Goal_Caption>",
        "Analyse the description \"<Goal_Caption>\": which actions, body parts, directions and counts matter?",
        "Identify the important factors for generating this motion: <Goal_Caption>",
        "Plan ahead: what must a motion for \"<Goal_Caption>\" get right?",
        "Read this goal and explain what a correct motion needs: <Goal_Caption>",
        "Think about the request \"<Goal_Caption>\" and describe its essential parts.",
        "List the actions, their order and their details for the goal: <Goal_Caption>",
        "Goal text: <Goal_Caption>\nAnalyse it before generating.",
        "Which movements, sides and repetitions does this text ask for? <Goal_Caption>",
    ],
    "<Text_Motion2Alignment_Analysis_Template>": [
        "Motion: <Generated_Motion>. Goal: <Goal_Caption>. How well does the motion fit the goal?",
        "Assess how closely this motion <Generated_Motion> follows the text \"<Goal_Caption>\".",
        "Here is a generated motion <Generated_Motion> for the goal \"<Goal_Caption>\". Evaluate the alignment.",
        "Does the motion <Generated_Motion> do what the text asks? Text: <Goal_Caption>",
        "Compare the motion <Generated_Motion> with the description \"<Goal_Caption>\" and judge the match.",
        "Goal text: <Goal_Caption>\nGenerated motion: <Generated_Motion>\nAssess the alignment.",
        "Judge whether <Generated_Motion> is a faithful motion for: <Goal_Caption>",
        "Rate the agreement between the goal \"<Goal_Caption>\" and the motion <Generated_Motion>, explaining what matches and what does not.",
        "Check this motion against its goal. Motion: <Generated_Motion> Goal: <Goal_Caption>",
        "Evaluate the motion <Generated_Motion>: is it a good realisation of \"<Goal_Caption>\"?",
        "Critique the motion <Generated_Motion> with respect to the goal <Goal_Caption>.",
    ],
    "<Text_Motion2Refinement_Instruction_Template>": [
        "Motion: <Generated_Motion>. Goal: <Goal_Caption>. What should change so the motion fits the goal?",
        "Give an instruction that would fix the motion <Generated_Motion> for the goal \"<Goal_Caption>\".",
        "How should <Generated_Motion> be refined to match \"<Goal_Caption>\"?",
        "Suggest a refinement of the motion <Generated_Motion> towards the text: <Goal_Caption>",
        "Goal text: <Goal_Caption>\nGenerated motion: <Generated_Motion>\nWrite the refinement instruction.",
        "The goal is \"<Goal_Caption>\" and the motion is <Generated_Motion>. Tell me how to improve it.",
        "Write one instruction to correct this motion <Generated_Motion> so that it shows <Goal_Caption>.",
        "What is wrong with <Generated_Motion> for \"<Goal_Caption>\", and how should it be changed?",
        "Propose the edits needed to turn <Generated_Motion> into a motion of <Goal_Caption>.",
        "Instruct a refinement: motion <Generated_Motion>, target description <Goal_Caption>.",
        "If <Generated_Motion> needs changes to fit \"<Goal_Caption>\", state them; otherwise say none are needed.",
    ],
    "<Direct_Motion_Refinement_Template>": [
        "Refine the motion <Generated_Motion> so it matches: <Goal_Caption>",
        "Improve this motion <Generated_Motion> to fit the text \"<Goal_Caption>\".",
        "Correct the motion <Generated_Motion> for the goal: <Goal_Caption>",
        "Here is a draft motion <Generated_Motion>. Produce a better one for \"<Goal_Caption>\".",
        "Goal text: <Goal_Caption>\nDraft motion: <Generated_Motion>\nGenerate the refined motion.",
        "Edit <Generated_Motion> until it shows <Goal_Caption>.",
        "Fix the motion <Generated_Motion>; the target is \"<Goal_Caption>\".",
        "Revise <Generated_Motion> into a motion that depicts: <Goal_Caption>",
        "Use <Generated_Motion> as a starting point and generate a motion for \"<Goal_Caption>\".",
        "Make the motion <Generated_Motion> agree with the description <Goal_Caption>.",
        "Rework this motion <Generated_Motion> to match the goal \"<Goal_Caption>\".",
    ],
    "<Instructed_Motion_Refinement_Template>": [
        "Refine the motion <Generated_Motion> for the goal \"<Goal_Caption>\" following this instruction: <Refinement_Instruction>",
        "Goal: <Goal_Caption>\nMotion: <Generated_Motion>\nInstruction: <Refinement_Instruction>\nGenerate the refined motion.",
        "Apply the instruction \"<Refinement_Instruction>\" to the motion <Generated_Motion> so it fits: <Goal_Caption>",
        "Edit <Generated_Motion> as instructed (<Refinement_Instruction>) to match \"<Goal_Caption>\".",
        "Here is a motion <Generated_Motion> for \"<Goal_Caption>\". Improve it: <Refinement_Instruction>",
        "Follow the refinement instruction \"<Refinement_Instruction>\" and regenerate <Generated_Motion> for the goal <Goal_Caption>.",
        "Instruction: <Refinement_Instruction>\nDraft motion: <Generated_Motion>\nTarget: <Goal_Caption>\nWrite the corrected motion.",
        "Correct <Generated_Motion> according to \"<Refinement_Instruction>\"; the goal is <Goal_Caption>.",
        "Using the advice \"<Refinement_Instruction>\", turn <Generated_Motion> into a motion of <Goal_Caption>.",
        "Revise the motion <Generated_Motion>. Goal: <Goal_Caption>. What to change: <Refinement_Instruction>",
        "Make the changes described in \"<Refinement_Instruction>\" to <Generated_Motion>, aiming for <Goal_Caption>.",
    ],
    # Stage 2: one interleaved trace of analysis, generation, assessment and refinement.
    "<Generate_Assess_Refien_Template_wo_Answer>": [
        "Generate a motion for the goal below. First analyse the goal, then generate, assess your motion and refine it until it fits. Think inside <think> and </think>, planning before each step.\nGoal Text: <Goal_Caption>",
        "Create a motion that matches the goal text. Analyse the goal, generate a motion, check it against the goal and keep refining until no refinements are needed. Wrap your reasoning in <think> and </think> with a plan before each step.\nGoal Text: <Goal_Caption>",
        "Work step by step: analyse the goal, generate a motion, assess it, and refine it if needed. Put all reasoning between <think> and </think> and state a plan before every step.\nGoal Text: <Goal_Caption>",
        "Produce a motion for the goal, reasoning in <think> and </think>: analyse, generate, assess, refine, and stop once the motion is satisfactory. Plan each step first.\nGoal Text: <Goal_Caption>",
        "Reason about the goal before and after generating: analyse it, generate a motion, assess the alignment, refine as instructed, and finish when the assessment needs no refinement. Use <think> and </think> and plan each step.\nGoal Text: <Goal_Caption>",
        "Analyse, generate, assess and refine until the motion fits the goal; write your reasoning inside <think> and </think>, with a plan before each step.\nGoal Text: <Goal_Caption>",
        "Generate the motion through interleaved reasoning: goal analysis, generation, self-assessment and refinement, all inside <think> and </think>, planning before each step.\nGoal Text: <Goal_Caption>",
        "Please make a motion for this goal. Start with an analysis, then alternate generation and assessment, refining until nothing needs to change. Reason inside <think> and </think> and plan every step.\nGoal Text: <Goal_Caption>",
        "Think step by step inside <think> and </think>: analyse the goal, generate a motion, judge how well it fits, refine it, and stop when it is right. Plan before each step.\nGoal Text: <Goal_Caption>",
        "Create the motion by analysing the goal, generating, assessing and refining in one reasoning trace between <think> and </think>, with a plan before each step.\nGoal Text: <Goal_Caption>",
    ],
}

# Aliases: the authors' stage-0 files use MotionAgent prompt keys.
TEMPLATES["<MotionAgent_Mogen_Template>"] = TEMPLATES["<Text2Motion_Template>"]
SYSTEM_KEYS = ("<General_System_Prompt>", "<MotionAgent_System_Prompt>")

# The eight stage-1 tasks: (task name, user template key, response key).
STAGE1_TASKS = {
    "m2t_motion_caption": ("<Motion2X_Template>", "<Goal_Caption>"),
    "t2m_direct_generation": ("<Text2Motion_Template>", "<Goal_Motion>"),
    "t2t_prompt_analysis": ("<Goal_Analysis_Template>", "<Goal_Analysis>"),
    "t2m_detailed_prompt_generation": ("<Text2Motion_Template>", "<Goal_Motion>"),
    "tm2t_assessment_analysis": ("<Text_Motion2Alignment_Analysis_Template>", "<Assessment_Analysis>"),
    "tm2t_refinement_instruction": ("<Text_Motion2Refinement_Instruction_Template>", "<Refinement_Instruction>"),
    "tm2m_direct_refinement": ("<Direct_Motion_Refinement_Template>", "<Goal_Motion>"),
    "tm2m_instructed_refinement": ("<Instructed_Motion_Refinement_Template>", "<Goal_Motion>"),
}
STAGE2_TASK = "unified_mogen_cot_v2"
STAGE2_TEMPLATE = "<Generate_Assess_Refien_Template_wo_Answer>"

NO_REFINEMENT = "No refinements needed."
