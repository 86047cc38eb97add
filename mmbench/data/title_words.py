"""The English word lists of the synthetic items' titles. The generator composes titles from them; the
offline word-level stand-in for CLIP's tokenizer (mmbench/contract/hf.py) needs a vocabulary that covers them.
Kept apart from the generator so that the core never imports generator code."""
from __future__ import annotations

# topic: (nouns, adjectives, verbs, places)
TOPICS: list[tuple[str, str, str, str]] = [
    ("sourdough pasta dumplings ramen curry pancakes brisket tacos", "crispy spicy homemade creamy", "bake grill cook fry", "kitchen food market bakery"),
    ("sunset waves surfboard reef tide lagoon seashells snorkel", "quiet turquoise sandy tropical", "surf snorkel dive paddle", "beach island bay coast"),
    ("deadlift squats kettlebell pushups treadmill protein abs sprint", "intense sweaty brutal full-body", "lift train stretch sprint", "gym track home gym park"),
    ("speedrun boss raid controller headshot loot arena respawn", "epic pixelated legendary insane", "beat stream clutch grind", "server dungeon lobby arcade"),
    ("puppy kitten hamster parrot leash catnip aquarium tortoise", "fluffy sleepy playful tiny", "adopt groom cuddle rescue", "shelter vet clinic backyard"),
    ("guitar drums piano chords melody vinyl concert playlist", "acoustic live soulful loud", "play cover jam remix", "studio stage garage festival"),
    ("sneakers denim runway outfit handbag blazer streetwear lookbook", "oversized vintage chic trendy", "style thrift wear layer", "mall boutique closet runway"),
    ("smartphone laptop chip keyboard drone headphones gadget firmware", "wireless foldable budget flagship", "unbox review benchmark upgrade", "tech lab desk store"),
    ("engine turbo drift supercar tires exhaust sedan horsepower", "roaring modified electric vintage", "drive race tune detail", "racetrack highway garage pit lane"),
    ("penalty goalkeeper striker dribble freekick stadium jersey derby", "stunning last-minute rainy tactical", "score defend tackle cross", "pitch stadium academy terraces"),
    ("choreography ballet hiphop salsa tango breakdance spin routine", "graceful viral synchronized smooth", "dance spin twirl perform", "dance studio ballroom street stage"),
    ("prank sketch standup punchline roast parody blooper skit", "hilarious awkward absurd silly", "prank roast joke imitate", "comedy club office dorm"),
    ("eyeliner lipstick foundation contour mascara skincare blush serum", "glowing dewy bold natural", "blend apply contour glow", "vanity salon backstage bathroom"),
    ("telescope molecule volcano rocket galaxy microscope experiment robot", "mind-blowing cosmic tiny explosive", "launch observe measure build", "lab observatory launch pad classroom"),
    ("trailer blockbuster director sequel cinema villain soundtrack remake", "cinematic thrilling iconic underrated", "review rank recap analyze", "theater film set premiere"),
    ("watercolor canvas sketchbook mural portrait charcoal clay sculpture", "colorful abstract detailed messy", "paint sketch sculpt draw", "art studio gallery atelier"),
    ("tomatoes seedlings compost roses succulents orchids greenhouse soil", "organic lush blooming rainy", "plant prune water harvest", "garden greenhouse balcony allotment"),
    ("trout bass lure rod bait kayak catfish salmon", "huge early-morning muddy record", "catch cast reel release", "lake river pier riverbank"),
    ("snowboard skis slopes powder avalanche chairlift goggles halfpipe", "snowy freezing steep fresh", "ski shred carve jump", "mountain ski resort alps glacier"),
    ("tent campfire backpack trail compass canoe hammock lantern", "wild rugged starry misty", "hike camp explore trek", "forest canyon national park valley"),
    ("toddler newborn stroller diapers nursery lullaby crib bottle", "adorable first-time sleepless tiny", "feed soothe raise swaddle", "nursery daycare playground living room"),
    ("stocks crypto budget savings dividends mortgage taxes portfolio", "passive smart frugal risky", "invest save trade budget", "bank office trading floor home office"),
    ("lens tripod portrait shutter aperture timelapse skyline silhouette", "moody sharp cinematic wide-angle", "shoot edit frame capture", "city rooftop streets darkroom"),
    ("dunk rebound three-pointer crossover buzzer-beater layup playoffs hoop", "clutch unstoppable overtime flashy", "dunk shoot block pass", "court arena gym playground"),
]

FILLERS = [
    "vlog", "tutorial", "for beginners", "with friends", "part 2", "highlights", "challenge", "in 60 seconds",
    "you won't believe", "day in my life", "compilation", "step by step", "tips and tricks", "at night",
    "on a budget", "weekend", "behind the scenes", "first try", "full video", "ultimate guide",
]

TEMPLATES = [
    "{A} {N} at the {P}",
    "How to {V} {N} like a pro",
    "My first {N} {F}",
    "{N} and {N2} {F}",
    "{A} {N} {F}",
    "Why everyone loves this {A} {N}",
    "We tried to {V} {N} at the {P}",
    "{F}: {A} {N} and {N2}",
    "Top 5 {N} moments",
    "{V} {N} with me {F}",
]

# hooks of appealing titles (world 2): clickbait a text encoder can tell from a plain title
HOOKS = [
    "(you need to see this)", "- the best one yet", "| must watch", "- it went viral", "(insane ending)",
    "| absolutely stunning", "- worth every second", "(mind-blowing)",
]
